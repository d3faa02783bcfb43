"""A tiny HF Trainer written for wandb (report_to="wandb"); run by tests/test_frameworks.py under
`turbotrack run`. Usage: python hf_trainer.py OUTPUT_DIR. Writes what the Trainer logged to
OUTPUT_DIR/log_history.json for the test to compare with what the tracker recorded."""

import json
import sys

import torch
from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments

out = sys.argv[1]
torch.manual_seed(0)
config = BertConfig(
    vocab_size=64, hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32, num_labels=2
)
model = BertForSequenceClassification(config)


class Data(torch.utils.data.Dataset):
    def __init__(self, n, seed):
        g = torch.Generator().manual_seed(seed)
        self.ids = torch.randint(1, 64, (n, 8), generator=g)
        self.labels = (self.ids[:, 0] > 32).long()

    def __len__(self):
        return len(self.ids)

    def __getitem__(self, i):
        return {"input_ids": self.ids[i], "attention_mask": torch.ones(8, dtype=torch.long), "labels": self.labels[i]}


args = TrainingArguments(
    output_dir="hf-out",  # relative to the working directory (OUTPUT_DIR): the same in every run
    run_name="hf-tiny",
    report_to="wandb",
    max_steps=20,
    logging_steps=5,
    eval_strategy="steps",
    eval_steps=10,
    save_strategy="no",
    per_device_train_batch_size=4,
    per_device_eval_batch_size=4,
    learning_rate=1e-3,
    use_cpu=True,
    dataloader_num_workers=0,
    disable_tqdm=True,
    seed=0,
)
trainer = Trainer(model=model, args=args, train_dataset=Data(80, 1), eval_dataset=Data(16, 2))
trainer.train()
with open(f"{out}/log_history.json", "w") as fh:
    json.dump(trainer.state.log_history, fh)
