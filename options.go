package atelier

import (
	"log/slog"
	"net/url"
	"time"

	"github.com/atelierstore/atelier/assets"
	"github.com/atelierstore/atelier/idb"
	"github.com/atelierstore/atelier/syncengine"
	"github.com/atelierstore/atelier/syncproto"
)

// Options configure Open. The zero value (or nil) is a good default: a
// local-only workspace, assets in OPFS where the browser has it and in
// IndexedDB otherwise, relaxed durability.
type Options struct {
	// Logger receives the store's structured logs. Nil means silent.
	Logger *slog.Logger

	// StrictDurability makes every write wait until the browser has
	// flushed it to disk (see idb.Options.StrictDurability).
	StrictDurability bool

	// AssetBackend picks where asset bytes live: assets.BackendAuto (the
	// zero value), assets.BackendOPFS or assets.BackendIDB.
	AssetBackend assets.Backend

	// Sync, when set, keeps an outbox of every write and runs the sync
	// engine and the asset uploader against a server, in the leading tab.
	Sync *SyncOptions

	// OnVersionChange is called when another tab upgrades the database.
	// By then the workspace has closed (every later call fails with
	// ErrClosed); the app should ask the user to reload.
	OnVersionChange func(idb.VersionChange)

	// OnBlocked is called while Open waits for tabs with an older schema
	// to close the database.
	OnBlocked func(idb.Blocked)

	// OnLeaderChange is called when this tab becomes or stops being the
	// leader, the one tab that syncs.
	OnLeaderChange func(leading bool)

	// OnSyncStatus is called, in every tab, when the sync status changes
	// (see Workspace.SyncStatus). It runs on a browser event and must not
	// block.
	OnSyncStatus func(SyncStatus)

	// OnConflict is called, in every tab, with this device's writes that
	// lost to the server's state or that the server refused. It runs on a
	// browser event and must not block.
	OnConflict func([]syncproto.Conflict)
}

// SyncOptions name the server a workspace syncs with.
type SyncOptions struct {
	// URL is the server's base URL (http or https).
	URL string
	// Workspace is the server-side workspace this store mirrors.
	Workspace string
	// Token is sent as a bearer token; empty sends none.
	Token string
	// PullInterval is how often the leader asks for changes while idle;
	// zero means the engine's default.
	PullInterval time.Duration
	// PollOnly turns live updates off: by default the leader also listens
	// for the server's announcements of new changes (a long poll) and
	// pulls each at once; with PollOnly it only pulls every PullInterval.
	PollOnly bool
}

// check reports the first invalid field as a *ValidationError.
func (s *SyncOptions) check() error {
	u, err := url.Parse(s.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return &ValidationError{Entity: "options", Field: "sync.url", Reason: "must be an absolute http or https URL"}
	}
	if s.Workspace == "" {
		return &ValidationError{Entity: "options", Field: "sync.workspace", Reason: "required"}
	}
	if s.PullInterval < 0 {
		return &ValidationError{Entity: "options", Field: "sync.pullInterval", Reason: "must not be negative"}
	}
	return nil
}

// check validates the options and the name Open gets.
func (o *Options) check(name string) error {
	if name == "" {
		return &ValidationError{Entity: "options", Field: "name", Reason: "required"}
	}
	switch o.AssetBackend {
	case assets.BackendAuto, assets.BackendOPFS, assets.BackendIDB:
	default:
		return &ValidationError{Entity: "options", Field: "assetBackend",
			Reason: `must be "", "opfs" or "idb", not "` + string(o.AssetBackend) + `"`}
	}
	if o.Sync != nil {
		return o.Sync.check()
	}
	return nil
}

// SyncStatus is what an app shows about sync: the operations' status, the
// assets' upload status, and whether this tab is the leader. Only the
// leader syncs; the other tabs report the last status the leader shared.
type SyncStatus struct {
	syncengine.Status
	Assets syncengine.UploadStatus
	// Leader is true when this tab is the leader and the status its own.
	Leader bool
}
