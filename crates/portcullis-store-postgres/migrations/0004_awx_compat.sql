-- AWX client compatibility: the inventory kind and membership of the Default organization.

-- '' for a normal inventory, as AWX answers it; clients compare it on every run.
ALTER TABLE inventories ADD COLUMN kind text COLLATE "C" NOT NULL DEFAULT '';

-- Users associated with an organization through /api/v2/organizations/<id>/users/.
CREATE TABLE organization_members (
    organization_id bigint NOT NULL,
    user_id         bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (organization_id, user_id)
);

CREATE INDEX organization_members_user ON organization_members (user_id);
