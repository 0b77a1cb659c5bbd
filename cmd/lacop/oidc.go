package main

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// clientSecretBytes is the size of a generated client secret: 256 bits,
// beyond guessing however the hash is attacked.
const clientSecretBytes = 32

func (m *Main) oidcCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "oidc", Short: "Set up the apps that sign people in through lacop (OpenID Connect)"}
	cmd.AddCommand(m.oidcHashSecretCommand())
	return cmd
}

// oidcHashSecretCommand prints what goes in oidc.clients[].secret, so the
// configuration never has to hold an app's secret itself.
func (m *Main) oidcHashSecretCommand() *cobra.Command {
	var generate bool
	cmd := &cobra.Command{
		Use:   "hash-secret [--generate]",
		Short: "Print the hash of an app's client secret (read from stdin) for oidc.clients[].secret",
		Long: `Reads a client secret from the first line of stdin and prints its argon2id
hash, to put in the app's oidc.clients[].secret; the secret itself goes to
the app. The secret is never printed.

With --generate, nothing is read: a new random secret is made, and printed
on the first line ("secret: ..."), its hash on the second ("hash: ...").`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var secret string
			if generate {
				secret = newClientSecret()
			} else {
				var err error
				if secret, err = readSecret(m.Stdin); err != nil {
					return err
				}
			}
			hash, err := passwordHasher().Hash(cmd.Context(), secret)
			if err != nil {
				return err
			}
			if generate {
				fmt.Fprintf(m.Stdout, "secret: %s\nhash:   %s\n", secret, hash)
				return nil
			}
			fmt.Fprintln(m.Stdout, hash)
			return nil
		},
	}
	cmd.Flags().BoolVar(&generate, "generate", false, "make a new random secret and print it with its hash")
	return cmd
}

// readSecret reads a secret from the first line of r. Like passwords, a
// secret is never taken on the command line, where other users and shell
// history could see it. A blank line is refused: it is a slip (an empty
// file, a variable that was not set), not a secret.
func readSecret(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read the secret from stdin: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if strings.TrimSpace(line) == "" {
		return "", errors.New("no secret on stdin: give it on the first line, or use --generate to make one")
	}
	return line, nil
}

// newClientSecret makes a random secret an app can send as it is: URL-safe
// base64 without padding, so it survives forms, URLs and HTTP Basic alike.
func newClientSecret() string {
	b := make([]byte, clientSecretBytes)
	// crypto/rand.Read never fails; it crashes the program if the
	// system's random source is broken.
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
