package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/atelierstore/atelier/internal/errs"
)

// Tokens maps bearer tokens to the one workspace each may use. It keeps
// only the SHA-256 digests of the tokens.
type Tokens struct {
	entries []tokenEntry
}

type tokenEntry struct {
	sum [32]byte
	ws  string
}

// tokenDigestPrefix marks a key of a tokens map that is the hex SHA-256 of
// a token rather than the token, so that token files need not hold
// secrets in the clear.
const tokenDigestPrefix = "sha256:"

// NewTokens returns Tokens for m, which maps each token to its workspace.
// A key may also be "sha256:" followed by the hex SHA-256 digest of the
// token. It fails with an error matching errs.ErrInvalid when a token
// is empty or contains white space, a digest is malformed, or a workspace
// is not ValidWorkspace.
func NewTokens(m map[string]string) (*Tokens, error) {
	t := &Tokens{}
	for tok, ws := range m {
		if !ValidWorkspace(ws) {
			return nil, invalid("tokens", fmt.Sprintf("workspace %q: want 1 to 64 of A-Z a-z 0-9 . _ -, starting with a letter or digit", ws))
		}
		var e tokenEntry
		e.ws = ws
		if d, ok := strings.CutPrefix(tok, tokenDigestPrefix); ok {
			b, err := hex.DecodeString(d)
			if err != nil || len(b) != len(e.sum) {
				return nil, invalid("tokens", "a sha256: key must be followed by 64 hex digits")
			}
			copy(e.sum[:], b)
		} else {
			if tok == "" || strings.ContainsAny(tok, " \t\r\n") {
				return nil, invalid("tokens", "a token must be non-empty and contain no white space")
			}
			e.sum = sha256.Sum256([]byte(tok))
		}
		t.entries = append(t.entries, e)
	}
	return t, nil
}

// LoadTokens reads a JSON object of token to workspace, as NewTokens
// takes, from the file at path.
func LoadTokens(path string) (*Tokens, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load tokens: %w", err)
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("load tokens %s: %w", path, invalid("tokens", "want a JSON object of token to workspace: "+err.Error()))
	}
	t, err := NewTokens(m)
	if err != nil {
		return nil, fmt.Errorf("load tokens %s: %w", path, err)
	}
	return t, nil
}

// Workspace returns the workspace of token, and whether the token is
// known. It compares the token's digest with every entry in constant time
// and without stopping at a match, so the time taken tells nothing about
// which tokens exist. A nil *Tokens knows no token.
func (t *Tokens) Workspace(token string) (string, bool) {
	if t == nil || token == "" {
		return "", false
	}
	sum := sha256.Sum256([]byte(token))
	ws, found := "", 0
	for i := range t.entries {
		if subtle.ConstantTimeCompare(sum[:], t.entries[i].sum[:]) == 1 {
			ws, found = t.entries[i].ws, 1
		}
	}
	return ws, found == 1
}

// ValidWorkspace reports whether ws can name a workspace: 1 to 64
// characters of A-Z, a-z, 0-9, '.', '_' and '-', the first a letter or a
// digit. Workspace names appear in URL paths and signed strings, which
// this keeps unambiguous.
func ValidWorkspace(ws string) bool {
	if len(ws) == 0 || len(ws) > 64 {
		return false
	}
	for i := 0; i < len(ws); i++ {
		c := ws[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case (c == '.' || c == '_' || c == '-') && i > 0:
		default:
			return false
		}
	}
	return true
}

func invalid(field, reason string) error {
	return &errs.ValidationError{Entity: "server", Field: field, Reason: reason}
}
