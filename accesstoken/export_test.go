package accesstoken

// CacheLen reports how many verified tokens a holds, so the black-box tests
// can check the cache bound without it being part of the API.
func (a *Authority) CacheLen() int {
	if a.cache == nil {
		return 0
	}
	return a.cache.len()
}
