//go:build e2e

// Package e2e drives the real binaries (bin/, from make build) the way a
// user would. The local suite needs no root: each node is an onode process
// with its own control socket in a temporary directory.
package e2e

import (
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"
)

var binDir string

func TestE2E(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Ouroboros e2e")
}

var _ = BeforeSuite(func() {
	var err error
	binDir, err = filepath.Abs("../bin")
	Expect(err).NotTo(HaveOccurred())
	for _, b := range []string{"onode", "irm", "oping", "operf", "oecho"} {
		_, err := os.Stat(filepath.Join(binDir, b))
		Expect(err).NotTo(HaveOccurred(), "run make build first: %s is missing", b)
	}
})

var _ = AfterSuite(func() {
	gexec.KillAndWait()
})
