//go:build js && wasm

package syncengine

import "github.com/atelierstore/atelier/internal/jsnet"

// FollowOnline pauses the uploader while the browser reports being
// offline and resumes it (with a pass at once) when it comes back. The
// returned function stops following.
func (u *Uploader) FollowOnline() (stop func()) { return jsnet.FollowOnline(u.SetOnline) }
