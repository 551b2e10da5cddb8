"""Images in chat: type and size checks, thumbnails, content-addressed storage (local or S3)."""
