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
