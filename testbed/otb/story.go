package otb

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/o7s/ouroboros/testbed/netns"
	"github.com/o7s/ouroboros/testbed/story"
	"github.com/o7s/ouroboros/testbed/topo"
)

const storyUsage = "usage: otb story run FILE [--lab LAB] [--runtime netns|docker] [--junit FILE.xml] [--keep]"

// storyCmd runs a story: deploys its lab if it is not up (and destroys it
// after, unless --keep), runs the steps, prints the results, writes JUnit
// XML if asked, and fails unless every expectation held.
func (c *cli) storyCmd(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "run" {
		return c.usageErr(storyUsage)
	}
	fs := c.flags("story run")
	lab := fs.String("lab", "", "the lab's name, instead of the file's")
	rt := fs.String("runtime", "", "netns or docker: instead of the file's runtime (when the story deploys)")
	junit := fs.String("junit", "", "write the results as JUnit XML to this file")
	keep := fs.Bool("keep", false, "leave a lab the story deployed up")
	pos, err := parse(fs, args[1:])
	if err != nil || len(pos) != 1 || !knownRuntime(*rt) {
		return c.usageErr(storyUsage)
	}
	t, err := topo.LoadWith(ctx, pos[0], topo.LoadOptions{Runtime: *rt})
	if err != nil {
		return err
	}
	if len(t.Story) == 0 {
		return fmt.Errorf("%s has no story: add story: [...] to it, or write a story file (topology: FILE and story: [...])", pos[0])
	}
	if *lab != "" {
		if err := topo.CheckLabName(*lab); err != nil {
			return fmt.Errorf("--lab: %w", err)
		}
		t.Name = *lab
	}
	c.o.Fill()
	deployed := false
	if _, err := netns.LoadLab(netns.DefaultRoot, t.Name); errors.Is(err, netns.ErrNoLab) {
		fmt.Fprintf(c.out, "== deploying lab %s for the story\n", t.Name)
		if _, err := netns.Deploy(ctx, t, c.o); err != nil {
			return err
		}
		deployed = true
	} else if err != nil {
		return err
	} else {
		fmt.Fprintf(c.out, "== lab %s is up: the story runs on it as it is\n", t.Name)
	}
	if deployed && !*keep {
		defer func() {
			// A story stopped by Ctrl-C still removes what it deployed.
			if err := netns.Destroy(t.Name, c.o); err != nil {
				fmt.Fprintf(c.err, "otb: %v\n", err)
			}
		}()
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	file := pos[0]
	if t.StoryFile != "" {
		file = t.StoryFile
	}
	fmt.Fprintf(c.out, "== story %s: %d steps on lab %s\n", file, len(t.Story), t.Name)
	start := time.Now()
	r := &story.Runner{Otb: self, BinDir: filepath.Dir(self), Lab: t.Name, T: t, Out: c.out}
	res := r.Run(ctx)
	fmt.Fprintln(c.out)
	story.Table(c.out, res)
	if *junit != "" {
		f, err := os.Create(*junit)
		if err != nil {
			return err
		}
		err = story.JUnit(f, "story "+filepath.Base(file), res, time.Since(start))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("--junit: %w", err)
		}
	}
	if !story.Passed(res) {
		return fmt.Errorf("story %s failed", file)
	}
	return nil
}
