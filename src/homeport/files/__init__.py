"""Files and multi-part uploads: bytes on disk, metadata in the store."""
