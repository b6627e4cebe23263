DROP TABLE tm_alert_log;
DROP TABLE tm_device_state;
DROP TABLE tm_sensor_state;
DROP TABLE tm_readings;
