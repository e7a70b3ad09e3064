"""Staff accounts: the people, sign-in with a second factor, server-side sessions, emailed tokens,
and who may do what (permissions and lead scope)."""
