package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/client"
)

// ImageBinaries are the programs the node image holds, in /usr/bin: the
// node daemon, the tools a user runs on a node (kbase for the kernel's
// figures beside them), and opause for the holder.
var ImageBinaries = []string{"onode", "irm", "oping", "operf", "oecho", "obc", "ocbr", "ovpn", "kbase", "opause"}

// Dockerfile is the node image: nothing but the static binaries.
const Dockerfile = `FROM scratch
COPY usr/bin/ /usr/bin/
ENV PATH=/usr/bin
LABEL org.opencontainers.image.title="o7s/node" org.opencontainers.image.description="Ouroboros in Go: onode and its tools, static, FROM scratch"
ENTRYPOINT ["onode"]
`

// BuildImage builds the node image from the static binaries in binDir
// (make build puts them in bin/) with the engine's classic builder (no
// BuildKit session, nothing pulled), and tags it with each of tags.
// progress gets the builder's output.
func (e *Engine) BuildImage(ctx context.Context, binDir string, tags []string, progress io.Writer) error {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(name string, mode int64, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	if err := add("Dockerfile", 0o644, []byte(Dockerfile)); err != nil {
		return err
	}
	for _, b := range ImageBinaries {
		p := filepath.Join(binDir, b)
		data, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("%s: %w (run make build first)", p, err)
		}
		if err := add("usr/bin/"+b, 0o755, data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	r, err := e.c.ImageBuild(ctx, &buf, client.ImageBuildOptions{
		Tags: tags, Remove: true, ForceRemove: true, Version: build.BuilderV1,
		Labels: map[string]string{"o7s.version": strings.TrimPrefix(tags[0], Repo+":")},
	})
	if err != nil {
		return fmt.Errorf("docker build: %w", err)
	}
	defer r.Body.Close()
	// The build's errors arrive in its JSON stream.
	dec := json.NewDecoder(r.Body)
	for {
		var m struct {
			Stream      string `json:"stream"`
			Error       string `json:"error"`
			ErrorDetail struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&m); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("docker build: %w", err)
		}
		if m.Error != "" {
			return fmt.Errorf("docker build: %s", m.Error)
		}
		if progress != nil && m.Stream != "" {
			io.WriteString(progress, m.Stream)
		}
	}
}

// OldImages lists the tags of the node image other than keep (the tags
// just built), with their size in bytes.
func (e *Engine) OldImages(ctx context.Context, keep []string) (map[string]int64, error) {
	f := make(client.Filters)
	f.Add("reference", Repo)
	r, err := e.c.ImageList(ctx, client.ImageListOptions{Filters: f})
	if err != nil {
		return nil, fmt.Errorf("docker: list images: %w", err)
	}
	old := map[string]int64{}
	for _, im := range r.Items {
		for _, t := range im.RepoTags {
			if strings.HasPrefix(t, Repo+":") && !slices.Contains(keep, t) {
				old[t] = im.Size
			}
		}
	}
	return old, nil
}

// RemoveImage removes one tag of an image (the image goes with its last
// tag, unless a container uses it: then the engine refuses, and so does
// this).
func (e *Engine) RemoveImage(ctx context.Context, tag string) error {
	if _, err := e.c.ImageRemove(ctx, tag, client.ImageRemoveOptions{PruneChildren: true}); err != nil {
		return fmt.Errorf("docker: remove image %s: %w", tag, err)
	}
	return nil
}
