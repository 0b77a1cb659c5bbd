package redis

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	goredis "github.com/redis/go-redis/v9"
)

// parseURL turns a lacop Redis URL into client options, and returns the URL
// with its password masked for messages. goredis.ParseURL takes one host
// only, so the user info and the host list are split off here and the rest
// (database, TLS, query options) is left to it, one host at a time. Nothing
// that might hold the password is ever put into an error.
func parseURL(raw string) (opts *goredis.UniversalOptions, redacted string, err error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok || (scheme != "redis" && scheme != "rediss") {
		return nil, "(URL not shown)", errors.New("URL must start with redis:// or rediss://")
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	authority, tail := rest[:end], rest[end:]
	tail, _, _ = strings.Cut(tail, "#")
	// Messages show the path only: the query may carry a password too.
	shownTail, _, _ := strings.Cut(tail, "?")
	var userinfo, hostlist string
	if at := strings.LastIndex(authority, "@"); at >= 0 {
		userinfo, hostlist = authority[:at], authority[at+1:]
	} else {
		hostlist = authority
	}
	redacted = scheme + "://" + hostlist + shownTail
	var user, pass string
	if userinfo != "" {
		u, p, hasPass := strings.Cut(userinfo, ":")
		redacted = scheme + "://" + u + "@" + hostlist + shownTail
		if hasPass {
			redacted = scheme + "://" + u + ":xxxxx@" + hostlist + shownTail
		}
		if user, err = url.PathUnescape(u); err != nil {
			return nil, scheme + "://(user info not shown)@" + hostlist + shownTail, errors.New("invalid percent-encoding in the user name")
		}
		if pass, err = url.PathUnescape(p); err != nil {
			return nil, redacted, errors.New("invalid percent-encoding in the password")
		}
	}

	hosts, err := splitHosts(hostlist)
	if err != nil {
		return nil, redacted, err
	}
	path, rawQuery, _ := strings.Cut(tail, "?")
	query, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, redacted, fmt.Errorf("invalid query: %w", err)
	}
	master := query.Get("master_name")
	if query.Has("master_name") && master == "" {
		return nil, redacted, errors.New("master_name is empty")
	}
	query.Del("master_name")
	single := scheme + "://" + hosts[0] + path
	if len(query) > 0 {
		single += "?" + query.Encode()
	}
	o, err := goredis.ParseURL(single)
	if err != nil {
		return nil, redacted, err
	}
	if len(hosts) > 1 && master == "" && o.DB != 0 {
		return nil, redacted, errors.New("a Redis Cluster has database 0 only")
	}
	if o.TLSConfig != nil {
		// Left empty, the name checked is each dialled host's own: one
		// name fits neither several cluster nodes nor a Sentinel's master.
		o.TLSConfig.ServerName = ""
	}
	opts = &goredis.UniversalOptions{
		Addrs:      hosts,
		MasterName: master,
		DB:         o.DB,
		Username:   user,
		Password:   pass,
		TLSConfig:  o.TLSConfig,
		ClientName: o.ClientName,
		Protocol:   o.Protocol,

		DialTimeout:           orDefault(o.DialTimeout, dialTimeout),
		ReadTimeout:           orDefault(o.ReadTimeout, ioTimeout),
		WriteTimeout:          orDefault(o.WriteTimeout, ioTimeout),
		ContextTimeoutEnabled: true,
		// One dial per attempt and no command retries: a Redis that is gone
		// is an error within the dial timeout, and a script whose reply was
		// lost is never run twice (a second CreateSession would report a
		// conflict, a second DeleteSession that nothing existed). The pool
		// drops connections a restarted Redis closed before using them.
		DialerRetries:   1,
		MaxRetries:      orDefault(o.MaxRetries, -1),
		MinRetryBackoff: o.MinRetryBackoff,
		MaxRetryBackoff: o.MaxRetryBackoff,

		PoolSize:        o.PoolSize,
		PoolTimeout:     orDefault(o.PoolTimeout, dialTimeout),
		MinIdleConns:    o.MinIdleConns,
		MaxIdleConns:    o.MaxIdleConns,
		MaxActiveConns:  o.MaxActiveConns,
		ConnMaxIdleTime: o.ConnMaxIdleTime,
		ConnMaxLifetime: o.ConnMaxLifetime,
	}
	return opts, redacted, nil
}

// splitHosts splits "h1:6379,h2" into host:port pairs, 6379 by default.
func splitHosts(list string) ([]string, error) {
	if list == "" {
		return nil, errors.New("no host")
	}
	var hosts []string
	for _, h := range strings.Split(list, ",") {
		if h == "" {
			return nil, fmt.Errorf("empty host in %q", list)
		}
		host, port, err := net.SplitHostPort(h)
		if err != nil {
			// No port: take the default, keeping IPv6 brackets balanced.
			host, port = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]"), "6379"
			if strings.ContainsAny(host, "[]") || (strings.Contains(host, ":") && !strings.HasPrefix(h, "[")) {
				return nil, fmt.Errorf("invalid host %q", h)
			}
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("invalid port in %q", h)
		}
		if host == "" {
			return nil, fmt.Errorf("invalid host %q", h)
		}
		hosts = append(hosts, net.JoinHostPort(host, port))
	}
	return hosts, nil
}

// orDefault is v, or def when v is zero (not set in the URL).
func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
