-- Uninstall: drop the module's tables, children first.
DROP TABLE cm_meter_event;
DROP TABLE cm_reading;
DROP TABLE cm_client_assignment;
DROP TABLE cm_endpoint;
