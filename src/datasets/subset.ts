// The shortest leading run of a labelled set that holds the first `perClass` examples of every class: a loader that
// takes the first perClass of each class in file order selects the same examples from that run as from the whole set.
export function leadingRowsWithPerClass(labels: ArrayLike<number>, perClass: number): number {
  const counts = new Map<number, number>();
  let last = 0;
  for (let i = 0; i < labels.length; i++) {
    const c = counts.get(labels[i]) ?? 0;
    if (c < perClass) last = i + 1;
    counts.set(labels[i], c + 1);
  }
  return last;
}
