"""Varied English sentences for training data: product-pitch templates plus harvested prose.

The harvest reads docstrings and text files installed in the virtual environment (offline),
keeping only sentences of plain lowercase words, so the voice reads natural, varied English.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

PRODUCTS = ["coffee mug", "water bottle", "desk lamp", "phone case", "yoga mat", "backpack",
            "rice cooker", "face cream", "wireless earbuds", "tea set", "silk scarf",
            "running shoes", "blender", "notebook", "smart watch", "umbrella", "lipstick",
            "hair dryer", "throw pillow", "cutting board", "travel pillow", "pepper grinder",
            "bluetooth speaker", "wool socks", "frying pan", "sun hat", "charging cable"]
ADJECTIVES = ["beautiful", "sturdy", "lightweight", "gorgeous", "practical", "premium", "cozy",
              "elegant", "durable", "compact", "soft", "bright", "quiet", "powerful", "smooth",
              "handmade", "classic", "modern", "amazing", "simple", "waterproof"]
NAMES = ["Anna", "Bob", "Maria", "Peter", "Lucy", "Mohammed", "Chen", "Olivia", "James", "Sophie",
         "Raj", "Emma", "Paul", "Mia", "Yuki", "Oscar", "Zoe", "Liam", "Beth", "Victor"]
COLOURS = ["red", "blue", "green", "black", "white", "pink", "purple", "orange", "grey", "gold"]
CURRENCIES = ["dollars", "euros", "pounds", "yuan"]
TEMPLATES = [
    "This {adj} {product} costs only {price} {cur} today.",
    "Hi everyone, welcome back to the show, I'm so happy to see you, {name}!",
    "Thank you {name} for joining us, and thanks for the question about the {product}.",
    "The {product} comes in {colour}, {colour2} and {colour3}.",
    "We have {n} pieces left, so grab yours before they are gone.",
    "Look at how {adj} this {product} is, you will love it.",
    "Right now the {product} is {pct} percent off, that's {price} {cur}.",
    "Shipping is free for orders over {n} {cur}.",
    "{name} asks if the {product} is {adj}. Yes, absolutely!",
    "Put it in your cart now, the offer ends at {hour} o'clock.",
    "Would you believe it? Only {price} {cur} for a {adj} {product}!",
    "My favourite part is the {colour} one, it's so {adj}.",
    "Okay, let me show you the {product} up close.",
    "It weighs just {n} grams and measures {n2} by {n3} centimetres.",
    "Hmm, good point, {name}. Let me check that for you.",
    "Buy two {product}s and get the third one for free.",
    "Wow, {n} people bought the {product} in the last hour!",
    "Please follow the channel and share it with your friends.",
    "Our next product is a {adj} {colour} {product}.",
    "Do you prefer the {colour} or the {colour2}? Tell me in the chat.",
    "Every {product} has a {n}-day money back guarantee.",
    "Is it worth {price} {cur}? I think so, and here is why.",
    "Ah, you should feel how {adj} it is.",
    "Boom, the price drops to {price} {cur} in three, two, one!",
    "Please, please, please, don't miss this one.",
    "Order number {big} has just been confirmed, thank you {name}.",
]

_WORD = re.compile(r"^[A-Za-z][a-z]*(?:'[a-z]+)?$")


def template_sentences(rng: np.random.Generator) -> Iterator[str]:
    """Endless product-pitch sentences with numbers, prices and names."""
    while True:
        tpl = TEMPLATES[int(rng.integers(len(TEMPLATES)))]
        colours = rng.choice(COLOURS, 3, replace=False)
        price = (f"{int(rng.integers(1, 500))}.{int(rng.integers(0, 100)):02d}"
                 if rng.random() < 0.5 else str(int(rng.integers(1, 2000))))
        yield tpl.format(
            adj=rng.choice(ADJECTIVES), product=rng.choice(PRODUCTS), name=rng.choice(NAMES),
            price=price, cur=rng.choice(CURRENCIES), colour=colours[0], colour2=colours[1],
            colour3=colours[2], n=int(rng.integers(2, 300)), n2=int(rng.integers(2, 60)),
            n3=int(rng.integers(2, 60)), pct=int(rng.choice([10, 15, 20, 25, 30, 40, 50, 70])),
            hour=int(rng.integers(1, 13)), big=int(rng.integers(1000, 99999)))


def _plain(sentence: str) -> bool:
    words = sentence.rstrip(".!?").replace(",", "").split()
    return 5 <= len(words) <= 22 and all(_WORD.match(w) for w in words)


def harvest_sentences(limit: int = 5000) -> list[str]:
    """Plain-word sentences from docstrings of installed Python packages (sorted, unique)."""
    found: set[str] = set()
    roots = [Path(p) for p in sys.path if p.endswith("site-packages")]
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            if len(found) >= limit:
                break
            try:
                tree = ast.parse(path.read_text(encoding="utf-8", errors="ignore"))
            except (SyntaxError, ValueError, OSError, RecursionError):
                continue
            for node in ast.walk(tree):
                if not isinstance(node, ast.FunctionDef | ast.ClassDef | ast.Module):
                    continue
                doc = ast.get_docstring(node)
                if not doc:
                    continue
                text = " ".join(doc.split())
                for sent in re.split(r"(?<=[.!?])\s+", text):
                    sent = sent.strip()
                    if sent and sent[0].isupper() and sent[-1] in ".!?" and _plain(sent):
                        found.add(sent)
    return sorted(found)[:limit]
