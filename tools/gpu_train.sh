#!/usr/bin/env bash
# Train on a lent GPU machine inside a fixed budget, then leave the slim generator checkpoints (best,
# pretrain, last), metrics, options, loss plot and last sample grid in $OUT (the device tool's return folder:
# at most 8 files of 16 MiB, hence the slim checkpoints).
#   tools/gpu_train.sh CONFIG MINUTES [extra rechroma-train flags...]
# Needs in the checkout: the pack (work/data/rechroma-photos.npz) and the encoder weights named by the config
# or an --encoder-weights flag. Training stops itself at the budget (SIGINT at budget + 1 min is the backstop).
# The device tool carries at most 64 MiB: tracked files (~15 MB, most of it the shipped .onnx) + the pack
# (~54 MB) are already over. v2's run untracked the .onnx for the call (git rm --cached + .git/info/exclude,
# restored with git add right after; never commit -a meanwhile) and used a float16 copy of the ImageNet weights
# (7 MB; load_state_dict casts it back to float32).
set -u
config=$1 minutes=$2
shift 2
run=work/runs/gpu
out=${OUT:-work/runs/gpu-out}
mkdir -p "$out"
export PYTHONUNBUFFERED=1
python=${PYTHON:-python3}
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
"$python" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
workers=$(( $(nproc) - 1 ))
backstop=$(awk "BEGIN { print int($minutes * 60 + 60) }")
timeout -s INT "$backstop" "$python" -m trainer.train --config "$config" --out "$run" \
    --time-budget-minutes "$minutes" --num-workers "$workers" "$@" 2>&1 \
    | tr '\r' '\n' | awk 'NR % 20 == 1 || !/%\|/' > "$out/train.log"
rc=${PIPESTATUS[0]}
tail -n 40 "$out/train.log"
for name in best pretrain last; do
    [ -f "$run/$name.pt" ] && "$python" -m trainer.checkpoint slim "$run/$name.pt" "$out/$name.pt"
done
cp "$run/metrics.csv" "$run/options.json" "$run/losses.png" "$out/" 2>/dev/null
sample=$(ls "$run"/samples/*.png 2>/dev/null | tail -n 1)
[ -n "$sample" ] && cp "$sample" "$out/last-sample.png"
ls -la "$out"
exit "$rc"
