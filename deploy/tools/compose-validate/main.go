// compose-validate loads a Compose file the way Docker Compose does (compose-go: the Compose
// specification's JSON schema, then interpolation and the loader's own checks) and exits non-zero
// with the loader's message when the file is not valid Compose.
//
// With --json it prints the loaded project (defaults applied, variables interpolated) as JSON.
//
//	compose-validate [--json] COMPOSE_FILE [ENV_FILE]
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/compose-spec/compose-go/v2/cli"
)

func main() {
	args := os.Args[1:]
	asJSON := len(args) > 0 && args[0] == "--json"
	if asJSON {
		args = args[1:]
	}
	if len(args) < 1 {
		fmt.Fprintln(os.Stderr, "usage: compose-validate [--json] COMPOSE_FILE [ENV_FILE]")
		os.Exit(2)
	}
	file := args[0]
	opts := []cli.ProjectOptionsFn{
		cli.WithWorkingDirectory(filepath.Dir(file)),
		cli.WithName("reckon"),
	}
	if len(args) > 1 {
		opts = append(opts, cli.WithEnvFiles(args[1]), cli.WithDotEnv)
	}
	options, err := cli.NewProjectOptions([]string{file}, opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	project, err := options.LoadProject(context.Background())
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", file, err)
		os.Exit(1)
	}
	if asJSON {
		out, err := json.Marshal(project)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println(string(out))
		return
	}
	fmt.Printf("%s: valid Compose, %d services\n", file, len(project.Services))
}
