DROP TABLE cm_reading_hourly;
