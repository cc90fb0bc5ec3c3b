"""Mail in and out: mailbox, message decoding, subject rules, replies, the worker."""
