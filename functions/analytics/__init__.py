"""The analytics context: back-office figures counted from the other contexts' events."""
