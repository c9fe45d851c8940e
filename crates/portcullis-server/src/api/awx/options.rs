//! Placeholder: AWX OPTIONS metadata (`awx-api.md` §12).
