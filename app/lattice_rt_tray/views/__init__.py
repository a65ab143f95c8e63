"""Windows, models, dialogs and the tray icon."""
