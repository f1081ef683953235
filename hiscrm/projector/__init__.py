"""The projector: applies HISCRM_EVENTS to LMDB read models, with checkpoint, rebuild and verify."""
