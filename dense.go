package hyperlieu

// LastTaken returns the highest n of a dense numbered sequence (numbers
// taken 1, 2, … with no hole, as keyed inserts that each try n only once
// n-1 is taken make them), given that from is taken (or 0): a galloping
// search from it, about 2·log₂(distance) calls of taken, one when from is
// the last. Stores use it to find a list's end by _id reads.
func LastTaken(from int, taken func(n int) (bool, error)) (int, error) {
	lo, hi := from, 0                   // lo is taken (or 0); hi, once set, is free
	for step := 1; hi == 0; step *= 2 { // from+1, from+2, from+4, …
		ok, err := taken(from + step)
		if err != nil {
			return 0, err
		}
		if ok {
			lo = from + step
		} else {
			hi = from + step
		}
	}
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		ok, err := taken(mid)
		if err != nil {
			return 0, err
		}
		if ok {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo, nil
}
