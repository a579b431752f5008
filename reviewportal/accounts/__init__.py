"""People who sign in: the user model, roles (groups) and the sign-in pages."""
