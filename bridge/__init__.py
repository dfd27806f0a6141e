"""claimbridge daemon: drives Tyro iClient in headless Chromium for PMS clients."""
