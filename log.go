package minirag

import "log/slog"

const (
	slogInfo  = slog.LevelInfo
	slogDebug = slog.LevelDebug
	slogWarn  = slog.LevelWarn
)

func attrTenant(id string) slog.Attr { return slog.String("tenant_id", id) }
func attrUser(id string) slog.Attr   { return slog.String("user_id", id) }
func attrToken(id string) slog.Attr  { return slog.String("token_id", id) }
func attrBot(id string) slog.Attr    { return slog.String("bot_id", id) }

func attrConversation(id string) slog.Attr { return slog.String("conversation_id", id) }

func attrSource(id string) slog.Attr { return slog.String("source_id", id) }

// attrErr logs an error's full text: the host's log is where the causes
// that tenants are not shown (paths, SQL, driver messages) go.
func attrErr(err error) slog.Attr { return slog.String("error", err.Error()) }
