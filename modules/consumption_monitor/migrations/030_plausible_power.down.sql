ALTER TABLE cm_endpoint DROP COLUMN default_max_kw;
