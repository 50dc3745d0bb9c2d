#!/usr/bin/python3
"""gen_strings.py - writes a JSON list of varied test strings for the real-vocabulary
comparison (tests/test_vocab_real.sh). Deterministic (fixed seed). No NUL bytes (the strings
are passed as argv) and no lone surrogates (not representable in UTF-8).
Left out on purpose: a literal U+2581 next to a space or another U+2581. The converter stores
the user-defined space runs with real spaces ("  ", not "▁▁"), so llama.cpp (and
pippa) cannot merge an escaped "▁▁" into id 138, while HF still has "▁▁" in
its vocab and merges: a known llama.cpp-vs-HF divergence, not a pippa bug.

usage: gen_strings.py out.json [count]
"""
import json
import random
import sys

FIXED = [
    "Hello world", "Hello, world!", "The quick brown fox jumps over the lazy dog.",
    " leading space", "trailing space ", "  two leading", "multiple   spaces    between     words",
    " " * 40, " " * 31, " " * 32, " " * 63, "\n" * 35, "\n" * 31, "\n" * 62, "\t" * 5, "\t" * 31,
    "\t" * 33, "\t" * 70, " \t \t ", "\r\n\r\n", "line one\nline two", "para\n\npara",
    "mixed\n \n\t \nwhitespace  \n", "tab\tseparated\tvalues", "\t\tdouble tab",
    "def f(x):\n    return x * 2\n\n\nprint(f(21))\n",
    "int main(void) {\n\tprintf(\"%d\\n\", 42);\n\treturn 0;\n}\n",
    "{\"key\": [1, 2.5, -3e10, null, true], \"nested\": {\"a\": \"b\"}}",
    "<html><body><table><tr><td>cell</td></tr></table></body></html>",
    "<start_of_turn>user\nWrite a haiku about the sea.<end_of_turn>\n<start_of_turn>model\n",
    "<bos><start_of_turn>user\nHi<end_of_turn>\n", "x<end_of_turn>y<end_of_turn>z",
    "<start_of_turn", "<<start_of_turn>>", "<unused0><unused42><unused6241>", "<unused99999>",
    "<pad><eos><unk><mask>[multimodal]", "</s> is special", "<s>strike</s>", "<0x41><0x0A>",
    "<start_of_image><end_of_image>", "café naïve résumé", "e\u0301 vs \u00e9", "日本語のテキスト",
    "中文测试：你好，世界！", "한국어 텍스트입니다. 안녕하세요!", "Привет, мир!", "مرحبا بالعالم",
    "नमस्ते दुनिया", "สวัสดีชาวโลก", "Γειά σου Κόσμε", "emoji 😀🎉👍", "👨‍👩‍👧‍👦 family", "🇯🇵🇺🇸 flags",
    "👍🏽 tone", "Ω≈ç√∫˜µ≤≥÷", "\u00a0non-breaking\u00a0space", "\x01\x02 control \x7f bytes",
    "\u200b zero\u200dwidth\ufeff", "▁already▁escaped", "▁", "x▁y", "𓀀𓀁 hieroglyphs", "\ue000\uf8ff private",
    "\U0010fffd plane 16", "\U0001f9ec\U0001fae0", "a", "ab", "A" * 100, "ha" * 50, "1234567890" * 5,
    "3.14159 -42 1e10 0x1F 0b1010", "supercalifragilisticexpialidocious", "I'm can't won't they're y'all",
    "HELLO WORLD hello world Hello World", "Punctuation!?;:,.'\"()[]{}<>/\\|@#$%^&*_+=-~`",
    "https://example.com/path?query=1&x=y#frag", "user@example.com", "C:\\Windows\\System32",
    "    indented four", "\tindented tab", "end with newline\n", "\n\nstart with newlines",
]

WORDS = ("the of and to in is that for it as was with be by on not he this are or his from at "
         "which but have an they you were her she there been one all we their has would when if "
         "more no out so said what up its about into than them can only other new some could time "
         "these two may then do first any my now such like our over man me even most made after "
         "tokenizer model attention gradient kernel quantization embedding").split()
SCRIPTS = [(0x4E00, 0x9FFF), (0x3040, 0x30FF), (0xAC00, 0xD7A3), (0x0400, 0x04FF), (0x0600, 0x06FF),
           (0x0900, 0x097F), (0x0E00, 0x0E7F), (0x1F300, 0x1FAFF), (0x2000, 0x2BFF), (0x00A0, 0x024F),
           (0x10000, 0x1FFFF), (0xE000, 0xF8FF), (0x20000, 0x2A6DF)]
SPECIALS = ["<start_of_turn>", "<end_of_turn>", "<bos>", "<eos>", "<pad>", "<mask>", "<unk>",
            "[multimodal]", "<unused7>", "<unused123>", "<b>", "</b>", "<i>", "<table>", "</s>", "<s>",
            "<start_of_image>", "\n", "\n\n", "\n\n\n", "  ", "   ", "\t", "\r"]
WS = [" ", "  ", "\n", "\t", "\r\n", " \n", "\n ", "\t\t", "\u3000", "\u00a0"]


def rand_char(r):
    lo, hi = r.choice(SCRIPTS)
    while True:
        c = r.randint(lo, hi)
        if not (0xD800 <= c <= 0xDFFF) and c != 0x2581:
            return chr(c)


def rand_string(r):
    kind = r.randrange(7)
    parts = []
    for _ in range(r.randint(1, 14)):
        x = r.random()
        if kind == 0 or x < 0.35:
            w = r.choice(WORDS)
            parts.append(w.capitalize() if r.random() < 0.2 else w)
        elif x < 0.55:
            parts.append("".join(rand_char(r) for _ in range(r.randint(1, 6))))
        elif x < 0.7:
            parts.append(r.choice(WS) * r.randint(1, 4))
        elif x < 0.8:
            parts.append(r.choice(SPECIALS))
        elif x < 0.9:
            parts.append(r.choice(".,;:!?()[]{}<>\"'-_=+*/\\|#@$%^&~`0123456789"))
        else:
            parts.append(chr(r.randint(1, 0x7f)))
        if r.random() < 0.5:
            parts.append(" ")
    return "".join(parts)


def main():
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    r = random.Random(20250603)
    out = list(FIXED)
    while len(out) < count:
        out.append(rand_string(r))
    for s in out:
        assert "\x00" not in s and "<image_soft_token>" not in s
    json.dump(out, open(sys.argv[1], "w", encoding="utf-8"), ensure_ascii=False)


if __name__ == "__main__":
    main()
