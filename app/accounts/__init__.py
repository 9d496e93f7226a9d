"""Who may use a server: users with hashed passwords, API tokens, throttled logins (SQLite in the data folder)."""
