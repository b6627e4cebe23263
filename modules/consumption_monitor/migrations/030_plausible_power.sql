-- Without a circuit rating, a rise implying more than a plausible power is held for review
-- (issue 13): the module setting default_max_kw, copied onto each endpoint by the sync as the
-- rollover is, so the write path reads every rule of an endpoint from its row.
ALTER TABLE cm_endpoint ADD COLUMN default_max_kw DOUBLE PRECISION;
