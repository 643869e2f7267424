#!/usr/bin/env bash
# One lever of the automatic-quality ablation (issue #12, docs/ablations.md): train at the shared short budget,
# export, and judge on the val split and the reserved held-out set, so every lever is compared the same way.
#   tools/ablate.sh NAME from-v2|from-imagenet [extra rechroma-train flags: the lever...]
# from-v2:       continue the shipped v2 (its weights, folded norms frozen) for the budget with the lever on;
#                the control is the same command with no lever ("more of the same training").
# from-imagenet: start the encoder from ImageNet weights, as v2 did (the encoder lever needs this); its control
#                is MobileNetV2 from ImageNet at the same budget.
# The budget is in steps, not minutes, so that a busy machine does not change what a lever is given
# (ABLATION_PRETRAIN_STEPS + ABLATION_GAN_STEPS, batch 16 of 192-px crops: 300 steps, 4,800 crops, about
# 15-30 minutes of one core). Results: work/ablations/NAME/
# (model.onnx, train.log, eval/report.md). Needs the pack (rechroma-gather) and the held-out set
# (python -m trainer.corpus.holdout).
set -eu
name=$1 start=$2
shift 2
python=${PYTHON:-python3}
pack=${PACK:-work/data/rechroma-photos.npz}
holdout=${HOLDOUT:-work/holdout}
pretrain=${ABLATION_PRETRAIN_STEPS:-250}
gan=${ABLATION_GAN_STEPS:-50}
out=work/ablations/$name
mkdir -p "$out"
common=(--config trainer/configs/rechroma-v2.toml --data "$pack" --out "$out/run" --resume
        --crop-size 192 --batch-size 16 --threads "${THREADS:-1}" --num-workers 1
        --pretrain-steps "$pretrain" --gan-steps "$gan" --val-every 100 --checkpoint-every 100
        --sample-every 100000 --log-every 25)
case $start in
    from-v2)
        base=resources/models/rechroma-v2.onnx
        arch=$("$python" -c "import onnx, sys; from trainer.onnx_import import architecture
a = architecture(onnx.load(sys.argv[1]))
print(','.join(map(str, a['decoder_channels'])), ','.join(map(str, a['decoder_convs'])), a['output_scale'])" "$base")
        read -r channels convs scale <<< "$arch"
        start_flags=(--init-model "$base" --freeze-norm true --pretrained false --decoder-channels "$channels"
                     --decoder-convs "$convs" --output-scale "$scale" --lr 1e-4 --lr-gan 5e-5 --warmup-steps 50)
        gain=1.0 ;;   # v2's own chroma gain is already in the imported output scale
    from-imagenet)
        start_flags=()
        gain=1.1 ;;   # v2's calibrated gain, so the from-scratch levers are exported alike
    *) echo "start must be from-v2 or from-imagenet" >&2; exit 2 ;;
esac
export PYTHONUNBUFFERED=1
start_time=$(date +%s)
"$python" -m trainer.train "${common[@]}" "${start_flags[@]}" "$@" 2>&1 | tr '\r' '\n' \
    | awk 'NR % 20 == 1 || !/%\|/ { print; fflush() }' >> "$out/train.log"
echo "train wall seconds: $(( $(date +%s) - start_time ))" >> "$out/train.log"
"$python" -m trainer.export "$out/run/best.pt" "$out/model.onnx" --name "ablation-$name" --version 2 \
    --chroma-gain "$gain" --overwrite
"$python" -m trainer.evaluate "$holdout" --pack "$pack" --model "$out/model.onnx" --out "$out/eval" \
    --title "ablation $name" > "$out/eval.log" 2>&1
tail -n 30 "$out/eval.log"
