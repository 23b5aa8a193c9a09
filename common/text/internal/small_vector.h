// SmallVector: a minimal vector of trivially copyable values with N slots
// inside the object, for per-call scratch in TermMatcher::FindAll. Unlike
// absl::InlinedVector it keeps a plain data pointer, so element access has
// no "inlined or allocated?" branch. Not copyable or movable (the pointer
// may point into the object). Internal to common/text.
#ifndef COMMON_TEXT_INTERNAL_SMALL_VECTOR_H_
#define COMMON_TEXT_INTERNAL_SMALL_VECTOR_H_

#include <cstddef>
#include <cstring>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

namespace needlecheck::text::internal {

template <typename T, size_t N>
class SmallVector {
  static_assert(std::is_trivially_copyable_v<T>);
  static_assert(N > 0);

 public:
  SmallVector() = default;
  SmallVector(const SmallVector&) = delete;
  SmallVector& operator=(const SmallVector&) = delete;

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  T* begin() { return data_; }
  T* end() { return data_ + size_; }
  const T* begin() const { return data_; }
  const T* end() const { return data_ + size_; }
  T& operator[](size_t i) { return data_[i]; }
  const T& operator[](size_t i) const { return data_[i]; }
  T& back() { return data_[size_ - 1]; }

  void push_back(const T& value) {
    if (size_ == capacity_) Grow();
    new (data_ + size_) T(value);
    ++size_;
  }
  // Appends a value-initialised element and returns it, to be filled in
  // place: copying a freshly built struct in would read back the bytes just
  // stored, which the CPU cannot forward from several narrower stores.
  T& emplace_back() {
    if (size_ == capacity_) Grow();
    T* slot = new (data_ + size_) T();
    ++size_;
    return *slot;
  }
  void clear() { size_ = 0; }
  // New elements are value-initialised.
  void resize(size_t n) {
    while (capacity_ < n) Grow();
    for (size_t i = size_; i < n; ++i) new (data_ + i) T();
    size_ = n;
  }

 private:
  void Grow() {
    const size_t capacity = capacity_ * 2;
    auto heap = std::make_unique<T[]>(capacity);
    std::memcpy(static_cast<void*>(heap.get()), data_, size_ * sizeof(T));
    heap_ = std::move(heap);
    data_ = heap_.get();
    capacity_ = capacity;
  }

  // Raw storage: slots are constructed only when used.
  alignas(T) unsigned char inline_[N * sizeof(T)];
  T* data_ = reinterpret_cast<T*>(inline_);
  size_t size_ = 0;
  size_t capacity_ = N;
  std::unique_ptr<T[]> heap_;
};

}  // namespace needlecheck::text::internal

#endif  // COMMON_TEXT_INTERNAL_SMALL_VECTOR_H_
