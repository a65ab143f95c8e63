"""The operating system, without Qt: autostart, licences, connection checks, GC pauses."""
