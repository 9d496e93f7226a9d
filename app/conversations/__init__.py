"""Each user's chats, kept on the server: list, reopen, rename, delete."""
