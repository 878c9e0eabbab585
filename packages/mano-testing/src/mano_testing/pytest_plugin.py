"""pytest plugin: fixtures for a running Beiwe emulator (filled in with the emulator)."""
