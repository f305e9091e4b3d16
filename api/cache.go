package api

import (
	"container/list"
	"context"
	"sync"

	"github.com/99designs/gqlgen/graphql"
)

// byteCache is a least-recently-used cache bounded in bytes, not entries: a
// few huge documents can't hold more memory than many small ones. An entry
// costs its key's length times weight plus its value's size as sizeOf says;
// an entry larger than the whole budget is not kept.
type byteCache[T any] struct {
	budget int
	weight int
	sizeOf func(T) int

	mu    sync.Mutex
	used  int
	order *list.List // front: most recently used
	items map[string]*list.Element
}

type cacheEntry[T any] struct {
	key   string
	value T
	size  int
}

var (
	_ graphql.Cache[string] = (*byteCache[string])(nil)
)

func newByteCache[T any](budget, weight int, sizeOf func(T) int) *byteCache[T] {
	return &byteCache[T]{budget: budget, weight: weight, sizeOf: sizeOf, order: list.New(), items: map[string]*list.Element{}}
}

// Get implements graphql.Cache.
func (c *byteCache[T]) Get(_ context.Context, key string) (T, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		c.order.MoveToFront(e)
		return e.Value.(*cacheEntry[T]).value, true
	}
	var zero T
	return zero, false
}

// Add implements graphql.Cache.
func (c *byteCache[T]) Add(_ context.Context, key string, value T) {
	size := len(key) * c.weight
	if c.sizeOf != nil {
		size += c.sizeOf(value)
	}
	if size > c.budget {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		c.used -= e.Value.(*cacheEntry[T]).size
		c.order.Remove(e)
		delete(c.items, key)
	}
	for c.used+size > c.budget {
		oldest := c.order.Back()
		old := oldest.Value.(*cacheEntry[T])
		c.order.Remove(oldest)
		delete(c.items, old.key)
		c.used -= old.size
	}
	c.items[key] = c.order.PushFront(&cacheEntry[T]{key: key, value: value, size: size})
	c.used += size
}

// bytes returns the bytes the cache accounts for.
func (c *byteCache[T]) bytes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.used
}
