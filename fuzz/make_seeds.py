#!/usr/bin/env python3
"""make_seeds.py - writes the hand-made seed corpora of the text fuzz targets into
fuzz/corpus/<target>/ (the GGUF seeds come from fuzz/make_corpus.c). Deterministic; run
from the repository root: python3 fuzz/make_seeds.py"""
import json
import os

D = "sha256:" + "ab" * 32
E = "sha256:" + "0123456789abcdef" * 4

SEEDS = {
    "fuzz_name": [
        "gemma3", "gemma3:4b", "library/gemma3:latest", "registry.ollama.ai/library/gemma3:27b-it-qat",
        "hf.co/unsloth/gemma-3-4b-it-GGUF:Q4_K_M", "http://localhost:8080/me/m:v1", "https://h:1/n/m:t",
        "../x", "a/b/c/d:e", "Gemma3:4B", "m:", ":t", "_x.y-z", D, "a" * 81, "h" * 300 + "/n/m",
    ],
    "fuzz_modelfile": [
        "FROM gemma3:4b\n",
        "FROM ./model.gguf\nPARAMETER temperature 0.7\nPARAMETER top_k 40\nPARAMETER stop \"<end_of_turn>\"\n"
        "PARAMETER stop <eos>\nSYSTEM You are a pirate.\n",
        "# comment\nfrom gemma3\nTEMPLATE \"\"\"{{ .System }}\n{{ .Prompt }}\"\"\"\nLICENSE \"\"\"MIT\nlines\"\"\"\n"
        "MESSAGE user hi\nMESSAGE assistant \"hello\\nthere\"\nREQUIRES 0.6.0\n",
        "FROM m\nPARAMETER mirostat 1\nPARAMETER num_ctx x\nPARAMETER penalize_newline true\n",
        "FROM m\nSYSTEM \"\"\"unterminated\n", "FROM m\nPARAMETER stop \"a\\nSYSTEM injected\"\n",
        "FROM m\nADAPTER ./a.gguf\nMESSAGE system \"s\"\nMESSAGE tool x\n", "\xef\xbb\xbfFROM m\r\nSYSTEM x\r\n",
    ],
    "fuzz_manifest": [
        json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                    "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "digest": D, "size": 7},
                    "layers": [{"mediaType": "application/vnd.ollama.image.model", "digest": E, "size": 123},
                               {"mediaType": "application/vnd.ollama.image.params", "digest": D, "size": 1}]}),
        json.dumps({"schemaVersion": 2, "config": {"mediaType": "x", "digest": "sha256:AB", "size": -1},
                    "layers": []}),
        json.dumps({"schemaVersion": 1}), "[]", '{"schemaVersion":2,"schemaVersion":2}',
    ],
    "fuzz_tokenizer": [
        "Hello world", "the cat in the hat\n\nof the", "<start_of_turn>user\nhi<end_of_turn>\n<start_of_turn>model\n",
        "<bos><eos><unk><user>x</s>", "\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80 caf\xc3\xa9", "\xff\xfe\x00\x80bad utf8 \xed\xa0\x80",
        "  leading  spaces   ", "\xe2\x96\x81the",
    ],
    "fuzz_api_native": [
        json.dumps({"model": "gemma3", "prompt": "Why is the sky blue?", "stream": False,
                    "options": {"temperature": 0.2, "top_k": 20, "num_ctx": 512, "stop": ["\n"], "seed": 3}}),
        json.dumps({"model": "m", "prompt": "", "keep_alive": "5m", "context": [1, 2, 3], "raw": True}),
        json.dumps({"model": "m", "system": "s", "template": "t", "suffix": "x", "images": ["aa"], "think": True}),
        json.dumps({"model": "m", "messages": [{"role": "system", "content": "be brief"},
                                                {"role": "user", "content": "hi", "images": []},
                                                {"role": "assistant", "content": "hello"}],
                    "keep_alive": 0, "top_logprobs": 5, "format": "json", "tools": []}),
        json.dumps({"name": "m", "messages": [{"role": "user", "content": [{"type": "text", "text": "a"}]}],
                    "options": {"num_predict": -1, "mirostat": 2, "penalize_newline": True, "unknown": 1}}),
        json.dumps({"model": "m", "options": {"top_k": "x"}, "keep_alive": -1.5e300}),
    ],
    "fuzz_api_openai": [
        json.dumps({"model": "gemma3", "messages": [{"role": "user", "content": "hi"}], "stream": True,
                    "stream_options": {"include_usage": True}, "max_tokens": 10, "temperature": 0.5,
                    "stop": ["a", "b"], "seed": 1, "n": 1}),
        json.dumps({"model": "m", "prompt": "once", "suffix": "", "max_completion_tokens": 3, "top_p": 0.9,
                    "frequency_penalty": 0.1, "presence_penalty": -0.1, "stop": "x"}),
        json.dumps({"model": "m", "messages": [{"role": "user", "content": [{"type": "text", "text": "a"},
                                                                            {"type": "image_url", "image_url": {}}]}],
                    "tools": [{"type": "function"}], "n": 2}),
        json.dumps({"model": "", "stream_options": [], "max_tokens": 1.5, "stop": [1]}),
    ],
    "fuzz_api_models": [
        json.dumps({"model": "gemma3:4b", "verbose": True}),
        json.dumps({"source": "a", "destination": "b"}),
        json.dumps({"name": "x", "stream": False, "insecure": True}),
        json.dumps({"model": "mine", "from": "gemma3", "system": "s", "template": "t", "stream": False,
                    "parameters": {"temperature": 0.1, "stop": ["a"], "num_ctx": 256},
                    "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}],
                    "license": ["MIT", "x"], "quantize": "q4_K_M", "files": {"m.gguf": D}}),
        json.dumps({"model": "mine", "from": "gemma3", "license": "MIT", "parameters": {"top_k": "x"},
                    "messages": [{"role": 1}], "adapters": {}}),
    ],
}

for target, seeds in SEEDS.items():
    d = os.path.join("fuzz", "corpus", target)
    os.makedirs(d, exist_ok=True)
    for i, s in enumerate(seeds):
        data = s.encode("utf-8", "surrogateescape") if isinstance(s, str) else s
        if any(ord(c) > 0x7f for c in s):
            data = s.encode("latin-1")
        with open(os.path.join(d, "seed-%02d" % i), "wb") as f:
            f.write(data)
