-- Inbound calls. A DID routes its calls to one target of its tenant: `route` is the kind
-- ('extension', 'queue', 'menu' or 'outside') and `target` its name or number; a DID without
-- a route (NULL) only serves as caller ID, and calls to it are refused.
ALTER TABLE dids ADD COLUMN route TEXT;
ALTER TABLE dids ADD COLUMN target TEXT COLLATE "C";
-- The name a queue or an IVR menu is dialled by in its tenant's context (users, DIDs and IVR
-- entries reach it there); none: it is reached by no call. One name, one target per tenant.
ALTER TABLE cc_queues ADD COLUMN extension TEXT COLLATE "C";
ALTER TABLE ivr_menus ADD COLUMN extension TEXT COLLATE "C";
CREATE UNIQUE INDEX cc_queues_by_extension ON cc_queues (tenant, extension);
CREATE UNIQUE INDEX ivr_menus_by_extension ON ivr_menus (tenant, extension);
