-- How long a slice of a prepaid call's credit is held at a time (NULL: the platform's default).
ALTER TABLE tenants ADD COLUMN prepaid_slice_seconds INTEGER;
