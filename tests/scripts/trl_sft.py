"""A tiny trl SFT run (report_to="wandb") on a tiny GPT-2 built from its config and a WordLevel tokenizer made
in-process; run by tests/test_frameworks.py with the real wandb and with turbotrack.
Usage: python trl_sft.py OUTPUT_DIR (also the working directory)."""

import random

import torch
from datasets import Dataset
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast
from trl import SFTConfig, SFTTrainer

torch.manual_seed(0)
words = "the cat sat on a mat dog ran far big red ball".split()
vocab = {"[PAD]": 0, "[UNK]": 1, "[EOS]": 2, **{w: i + 3 for i, w in enumerate(words)}}
core = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
core.pre_tokenizer = pre_tokenizers.Whitespace()
tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, pad_token="[PAD]", unk_token="[UNK]", eos_token="[EOS]")
config = GPT2Config(
    vocab_size=len(vocab),
    n_positions=32,
    n_embd=16,
    n_layer=2,
    n_head=2,
    pad_token_id=0,
    bos_token_id=2,
    eos_token_id=2,
)
model = GPT2LMHeadModel(config)
rng = random.Random(0)
texts = [" ".join(rng.choice(words) for _ in range(6)) for _ in range(16)]
args = SFTConfig(
    output_dir="trl-out",
    run_name="trl-tiny",
    report_to="wandb",
    max_steps=4,
    logging_steps=1,
    per_device_train_batch_size=4,
    learning_rate=1e-3,
    max_length=16,
    use_cpu=True,
    save_strategy="no",
    dataloader_num_workers=0,
    disable_tqdm=True,
    seed=0,
)
trainer = SFTTrainer(
    model=model, args=args, train_dataset=Dataset.from_dict({"text": texts}), processing_class=tokenizer
)
trainer.train()
