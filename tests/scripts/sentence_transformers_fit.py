"""A tiny sentence-transformers training (report_to wandb) on a tiny BERT built from its config and a
WordLevel tokenizer made in-process, saved to a local folder first; run by tests/test_frameworks.py with the
real wandb and with turbotrack. Usage: python sentence_transformers_fit.py OUTPUT_DIR (the working directory)."""

import random

import torch
from datasets import Dataset
from sentence_transformers import (
    SentenceTransformer,
    SentenceTransformerTrainer,
    SentenceTransformerTrainingArguments,
    losses,
    models,
)
from tokenizers import Tokenizer, pre_tokenizers, processors
from tokenizers import models as tok_models
from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

torch.manual_seed(0)
words = "the cat sat on a mat dog ran far big red ball".split()
specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
vocab = {w: i for i, w in enumerate([*specials, *words])}
core = Tokenizer(tok_models.WordLevel(vocab, unk_token="[UNK]"))
core.pre_tokenizer = pre_tokenizers.Whitespace()
core.post_processor = processors.TemplateProcessing(
    single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
)
tokenizer = PreTrainedTokenizerFast(
    tokenizer_object=core,
    pad_token="[PAD]",
    unk_token="[UNK]",
    cls_token="[CLS]",
    sep_token="[SEP]",
    mask_token="[MASK]",
)
bert = BertModel(
    BertConfig(
        vocab_size=len(vocab),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=32,
    )
)
bert.save_pretrained("tiny-bert")
tokenizer.save_pretrained("tiny-bert")
model = SentenceTransformer(modules=[models.Transformer("tiny-bert"), models.Pooling(16, "mean")], device="cpu")

rng = random.Random(0)


def pairs(n):
    a = [" ".join(rng.choice(words) for _ in range(5)) for _ in range(n)]
    b = [" ".join(rng.choice(words) for _ in range(5)) for _ in range(n)]
    return Dataset.from_dict({"sentence1": a, "sentence2": b, "score": [rng.random() for _ in range(n)]})


args = SentenceTransformerTrainingArguments(
    output_dir="st-out",
    run_name="st-tiny",
    report_to=["wandb"],
    max_steps=4,
    logging_steps=1,
    eval_strategy="steps",
    eval_steps=2,
    per_device_train_batch_size=4,
    per_device_eval_batch_size=4,
    learning_rate=1e-3,
    use_cpu=True,
    save_strategy="no",
    dataloader_num_workers=0,
    disable_tqdm=True,
    seed=0,
)
trainer = SentenceTransformerTrainer(
    model=model, args=args, train_dataset=pairs(16), eval_dataset=pairs(8), loss=losses.CosineSimilarityLoss(model)
)
trainer.train()
