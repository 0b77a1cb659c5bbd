package auth

// maxIDDraws bounds the draws of publicID; with crypto/rand, needing more
// than a few is astronomically unlikely (64^-64 for all of them).
const maxIDDraws = 64

// publicID returns n random bytes in unpadded base64url for an id that
// people copy into commands and URLs (user and session ids): it never
// starts with '-', which a command line would read as a flag. An id that
// would is drawn again rather than patched, so every id that can come out
// is equally likely; the id keeps its length and loses log2(64/63) ≈ 0.02
// bits of its 8n.
func (s *Service) publicID(n int) string {
	for range maxIDDraws {
		if id := s.randomString(n); id[0] != '-' {
			return id
		}
	}
	panic("auth: the random source keeps yielding ids that start with '-'")
}
