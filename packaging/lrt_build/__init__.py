"""Build helpers for the installers: project metadata, icons, the bundle, the .deb."""
