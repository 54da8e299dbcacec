package manifest

// Overlay returns the objects as the cluster holds them after the objects of
// deleted are deleted and those of applied are applied, as `kubectl delete
// -f` and `kubectl apply -f` would leave it:
//
//   - an applied object replaces the base object of the same Key, in its
//     place; one that base does not hold is added at the end, in applied
//     order. When applied holds a Key twice, the last one wins, as two
//     applies in a row would.
//   - a deleted object is removed, with, for a Namespace, every base object
//     in it (the API server deletes a Namespace's contents with it).
//     Deleting what base does not hold changes nothing.
//   - an object both deleted and applied stays, as applied: a file moved or
//     renamed in a pull request deletes one path and adds another holding
//     the same object.
//
// Neither input is modified; the objects themselves are shared, not copied.
func Overlay(base, applied, deleted []Object) []Object {
	last := make(map[Key]int, len(applied))
	for i := range applied {
		last[KeyOf(applied[i].Object)] = i
	}
	gone := map[Key]bool{}
	goneNamespaces := map[string]bool{}
	for i := range deleted {
		k := KeyOf(deleted[i].Object)
		if _, reapplied := last[k]; reapplied {
			continue
		}
		gone[k] = true
		if k.Group == "" && k.Kind == "Namespace" {
			goneNamespaces[k.Name] = true
		}
	}

	out := make([]Object, 0, len(base)+len(applied))
	placed := make(map[Key]bool, len(applied))
	for _, o := range base {
		if len(last) == 0 && len(gone) == 0 {
			out = append(out, o)
			continue
		}
		k := KeyOf(o.Object)
		if i, ok := last[k]; ok {
			if !placed[k] {
				out = append(out, applied[i])
				placed[k] = true
			}
			continue
		}
		if gone[k] || (k.Namespace != "" && goneNamespaces[k.Namespace]) {
			continue
		}
		out = append(out, o)
	}
	for i := range applied {
		k := KeyOf(applied[i].Object)
		if placed[k] {
			continue
		}
		out = append(out, applied[last[k]])
		placed[k] = true
	}
	return out
}
