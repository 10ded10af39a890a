#include "ir/parser.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <limits>

#include "ir/op_def.h"

namespace dlc::ir {
namespace {

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  Graph parse() {
    Graph g = parseGraphBody();
    skipSpace();
    if (pos_ != text_.size()) error("expected end of text after the graph");
    return g;
  }

 private:
  // `graph @name(args) { ... return ... }`; values of enclosing graphs being
  // parsed are visible inside (subgraphs read outer values directly).
  Graph parseGraphBody() {
    Graph g;
    scopes_.push_back(&g);
    expectWord("graph");
    expect('@');
    g.setName(parseName());
    expect('(');
    if (!tryConsume(')')) {
      do {
        std::string name = parseValueName();
        expect(':');
        if (g.findValue(name)) error(fmt::format("value '%{}' is defined twice", name));
        g.addInput(name, parseType());
      } while (tryConsume(','));
      expect(')');
    }
    expect('{');
    for (;;) {
      skipSpace();
      if (peekWord("return")) break;
      parseStatement(g);
    }
    expectWord("return");
    std::vector<Value*> outs;
    skipSpace();
    if (peek() == '%') {
      do outs.push_back(lookup(g, parseValueName()));
      while (tryConsume(','));
    }
    g.setOutputs(std::move(outs));
    expect('}');
    scopes_.pop_back();
    return g;
  }

  [[noreturn]] void error(const std::string& what) const {
    size_t line = 1, col = 1;
    for (size_t i = 0; i < pos_ && i < text_.size(); ++i) {
      if (text_[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    throwUserError("IR text {}:{}: {}", line, col, what);
  }

  void skipSpace() {
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (std::isspace(static_cast<unsigned char>(c))) {
        ++pos_;
      } else if (c == '#' || (c == '/' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '/')) {
        while (pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
      } else {
        break;
      }
    }
  }
  char peek() {
    skipSpace();
    return pos_ < text_.size() ? text_[pos_] : '\0';
  }
  bool tryConsume(char c) {
    if (peek() == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  void expect(char c) {
    if (!tryConsume(c)) error(fmt::format("expected '{}'", c));
  }
  static bool isWordChar(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.';
  }
  bool peekWord(std::string_view w) {
    skipSpace();
    return text_.substr(pos_, w.size()) == w &&
           (pos_ + w.size() == text_.size() || !isWordChar(text_[pos_ + w.size()]));
  }
  void expectWord(std::string_view w) {
    if (!peekWord(w)) error(fmt::format("expected '{}'", w));
    pos_ += w.size();
  }
  std::string parseWord() {
    skipSpace();
    size_t start = pos_;
    while (pos_ < text_.size() && isWordChar(text_[pos_])) ++pos_;
    if (start == pos_) error("expected a name");
    return std::string(text_.substr(start, pos_ - start));
  }
  std::string parseQuoted() {
    expect('"');
    std::string s;
    while (pos_ < text_.size() && text_[pos_] != '"') {
      char c = text_[pos_++];
      if (c == '\\' && pos_ < text_.size()) {
        char e = text_[pos_++];
        s += e == 'n' ? '\n' : e;
      } else {
        s += c;
      }
    }
    if (pos_ >= text_.size()) error("unterminated string");
    ++pos_;
    return s;
  }
  std::string parseName() { return peek() == '"' ? parseQuoted() : parseWord(); }
  std::string parseValueName() {
    expect('%');
    return parseName();
  }
  Value* lookup(Graph&, const std::string& name) {
    for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it)
      if (Value* v = (*it)->findValue(name)) return v;
    error(fmt::format("value '%{}' is not defined", name));
  }

  TensorType parseType() {
    std::string dt = parseWord();
    auto dtype = parseDType(dt);
    if (!dtype) error(fmt::format("unknown dtype '{}'", dt));
    expect('[');
    if (tryConsume('*')) {
      expect(']');
      return TensorType::unranked(*dtype);
    }
    std::vector<Dim> dims;
    if (!tryConsume(']')) {
      do {
        char c = peek();
        if (c == '?') {
          ++pos_;
          dims.push_back(Dim::unknown());
        } else if (std::isdigit(static_cast<unsigned char>(c))) {
          dims.push_back(Dim(parseInt()));
        } else {
          dims.push_back(Dim::symbol(parseName()));
        }
      } while (tryConsume(','));
      expect(']');
    }
    return TensorType(*dtype, Shape(std::move(dims)));
  }

  int64_t parseInt() {
    skipSpace();
    size_t start = pos_;
    if (pos_ < text_.size() && (text_[pos_] == '-' || text_[pos_] == '+')) ++pos_;
    while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) ++pos_;
    std::string s(text_.substr(start, pos_ - start));
    if (s.empty() || s == "-" || s == "+") error("expected an integer");
    return std::strtoll(s.c_str(), nullptr, 10);
  }

  // A number token; `isFloat` tells whether it was written as a float.
  double parseNumber(bool& isFloat) {
    skipSpace();
    size_t start = pos_;
    if (pos_ < text_.size() && (text_[pos_] == '-' || text_[pos_] == '+')) ++pos_;
    if (text_.substr(pos_, 3) == "inf" || text_.substr(pos_, 3) == "nan") {
      bool neg = text_[start] == '-';
      bool nan = text_.substr(pos_, 3) == "nan";
      pos_ += 3;
      isFloat = true;
      if (nan) return std::nan("");
      return neg ? -HUGE_VAL : HUGE_VAL;
    }
    while (pos_ < text_.size() &&
           (std::isdigit(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '.' ||
            text_[pos_] == 'e' || text_[pos_] == 'E' ||
            ((text_[pos_] == '-' || text_[pos_] == '+') && (text_[pos_ - 1] == 'e' || text_[pos_ - 1] == 'E'))))
      ++pos_;
    std::string s(text_.substr(start, pos_ - start));
    if (s.empty()) error("expected a number");
    isFloat = s.find_first_of(".eE") != std::string::npos;
    return isFloat ? std::strtod(s.c_str(), nullptr) : double(std::strtoll(s.c_str(), nullptr, 10));
  }

  // `[v, v, ...]` into a tensor of the given type.
  Tensor parseTensorValues(const TensorType& type) {
    if (!type.isStatic()) error("a constant needs a static shape");
    // Each value takes at least one character: a shape that needs more values
    // than the rest of the text holds is refused before it is allocated.
    if (!type.shape->numElements() || *type.shape->numElements() > int64_t(text_.size() - pos_))
      error(fmt::format("{} needs more values than the text holds", type.str()));
    Tensor t(type.dtype, type.shape->extents());
    expect('[');
    int64_t i = 0;
    if (!tryConsume(']')) {
      do {
        if (i >= t.numel()) error(fmt::format("more than {} values for {}", t.numel(), type.str()));
        skipSpace();
        if (isFloat(type.dtype)) {
          bool f;
          t.setDouble(i++, parseNumber(f));
        } else {
          t.setInt(i++, parseInt());
        }
      } while (tryConsume(','));
      expect(']');
    }
    if (i != t.numel()) error(fmt::format("{} values given for {}", i, type.str()));
    return t;
  }

  AttrValue parseAttrValue() {
    char c = peek();
    if (c == '"') return parseQuoted();
    if (peekWord("ints")) {
      expectWord("ints");
      expect('[');
      expect(']');
      return std::vector<int64_t>{};
    }
    if (peekWord("floats")) {
      expectWord("floats");
      expect('[');
      expect(']');
      return std::vector<double>{};
    }
    if (peekWord("strings")) {
      expectWord("strings");
      expect('[');
      std::vector<std::string> out;
      if (!tryConsume(']')) {
        do out.push_back(parseQuoted());
        while (tryConsume(','));
        expect(']');
      }
      return out;
    }
    if (peekWord("tensor")) {
      expectWord("tensor");
      expect('<');
      TensorType type = parseType();
      expect('>');
      return parseTensorValues(type);
    }
    if (peekWord("graph")) return std::make_shared<Graph>(parseGraphBody());
    if (c == '[') {
      ++pos_;
      std::vector<double> values;
      bool anyFloat = false;
      do {
        bool f;
        values.push_back(parseNumber(f));
        anyFloat |= f;
      } while (tryConsume(','));
      expect(']');
      if (anyFloat) return values;
      std::vector<int64_t> ints;
      for (double v : values) ints.push_back(integerValue(v));
      return ints;
    }
    bool f;
    double v = parseNumber(f);
    if (f) return v;
    return integerValue(v);
  }

  // parseNumber reads integers with strtoll, which saturates; the double then
  // holds 2^63 for INT64_MAX, one past int64's range (UBSan, fuzz).
  static int64_t integerValue(double v) {
    if (v >= 9223372036854775807.0) return std::numeric_limits<int64_t>::max();
    return int64_t(v);
  }

  void parseStatement(Graph& g) {
    std::vector<std::pair<std::string, TensorType>> results;
    do {
      std::string name = parseValueName();
      expect(':');
      results.emplace_back(name, parseType());
    } while (tryConsume(','));
    expect('=');
    if (peekWord("const")) {
      expectWord("const");
      if (results.size() != 1) error("a constant defines one value");
      if (peek() == '<') error("constant values were elided when this text was printed");
      if (g.findValue(results[0].first)) error(fmt::format("value '%{}' is defined twice", results[0].first));
      g.addConstant(results[0].first, parseTensorValues(results[0].second));
      return;
    }
    std::string opText = parseWord();
    auto op = findOp(opText);
    if (!op) error(fmt::format("unknown op '{}'", opText));
    std::vector<Value*> operands;
    expect('(');
    if (!tryConsume(')')) {
      do {
        if (peek() == '_') {
          ++pos_;
          operands.push_back(nullptr);
        } else {
          operands.push_back(lookup(g, parseValueName()));
        }
      } while (tryConsume(','));
      expect(')');
    }
    Attributes attrs;
    if (tryConsume('{')) {
      if (!tryConsume('}')) {
        do {
          std::string name = parseName();
          expect('=');
          AttrValue value = parseAttrValue();
          // Hand-written text may spell a float as `1`: coerce to the op's kind.
          if (const AttrSpec* spec = opDef(*op).findAttr(name)) {
            if (spec->kind == AttrKind::Float && std::holds_alternative<int64_t>(value))
              value = double(std::get<int64_t>(value));
            if (spec->kind == AttrKind::Floats && std::holds_alternative<std::vector<int64_t>>(value)) {
              const auto& ints = std::get<std::vector<int64_t>>(value);
              value = std::vector<double>(ints.begin(), ints.end());
            }
          }
          attrs.set(name, std::move(value));
        } while (tryConsume(','));
        expect('}');
      }
    }
    std::string nodeName;
    std::vector<std::string> origins;
    if (peekWord("loc")) {
      expectWord("loc");
      expect('(');
      nodeName = parseQuoted();
      while (tryConsume(',')) origins.push_back(parseQuoted());
      expect(')');
    }
    std::vector<std::string> names;
    for (const auto& r : results) {
      if (g.findValue(r.first) || std::find(names.begin(), names.end(), r.first) != names.end())
        error(fmt::format("value '%{}' is defined twice", r.first));
      names.push_back(r.first);
    }
    Node* n = g.addNode(*op, std::move(operands), results.size(), std::move(attrs), nodeName, names);
    for (auto& o : origins) n->addOrigin(std::move(o));
    for (size_t i = 0; i < results.size(); ++i) n->output(i)->setType(results[i].second);
  }

  std::string_view text_;
  size_t pos_ = 0;
  std::vector<Graph*> scopes_;
};

}  // namespace

Graph parseGraph(std::string_view text) { return Parser(text).parse(); }

}  // namespace dlc::ir
