package eth

// CarrierWatches is how many namespaces have a carrier watch (netlink
// subscription) now.
func CarrierWatches() int {
	carrierWatches.Lock()
	defer carrierWatches.Unlock()
	return len(carrierWatches.m)
}
