"""Running a server process: its configuration, socket, data-dir lock, storage and workers."""
