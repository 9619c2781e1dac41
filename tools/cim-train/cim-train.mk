# cim-train (tools/cim-train/): LeNet-5 trained on the device. Included by
# the top-level Makefile after runtime/runtime.mk and layers.mk.
#
#   make cim-train       build/cim-train
#   make train-mnist     MNIST, device and fp32, transfer and sweep
#   make train-paper     MNIST, --scheme paper, tuned
#   make train-fashion   Fashion-MNIST, device and fp32
#   make check-train     IDX reader test and a short run (host)
#   make check-train-vm  1 epoch on 1,000 images: /dev/cim0 = embedded

CT_SRCS := $(sort $(wildcard tools/cim-train/*.c)) $(TOOL_COMMON_SRCS)
CT_HDRS := $(wildcard tools/cim-train/*.h) $(TOOL_COMMON_HDRS) include/cim.h \
	include/cimfw.h include/cim_layer.h

.PHONY: cim-train train-mnist train-paper train-fashion check-train check-train-vm

cim-train: $(BUILD)/cim-train

# -ftree-vectorize: the host's ReLU, bias and pooling loops (GCC 12 vectorises
# only from -O3); reductions keep their order, so the bits do not change
$(BUILD)/cim-train: $(CT_SRCS) $(CT_HDRS) $(BUILD)/libcim.a
	$(CC) $(BASE_CFLAGS) $(OPT_CFLAGS) -ftree-vectorize -Itools/common -o $@ \
		$(CT_SRCS) $(BUILD)/libcim.a $(RT_LIBS)

# The main job: MNIST 7k/1k/2k on the embedded device, default settings,
# the transfer onto 3 chips and the variation sweep
train-mnist: $(BUILD)/cim-train
	@tools/data/fetch-mnist.sh >/dev/null
	$(BUILD)/cim-train --dataset mnist --backend both --transfer \
		--variation-sweep --sweep-csv $(BUILD)/train-mnist-sweep.csv \
		--sweep-plot $(BUILD)/train-mnist-sweep.png \
		--csv $(BUILD)/train-mnist.csv --plot $(BUILD)/train-mnist.png

# The paper's scheme, tuned on validation (Documentation/train.rst)
train-paper: $(BUILD)/cim-train
	@tools/data/fetch-mnist.sh >/dev/null
	$(BUILD)/cim-train --dataset mnist --backend both --scheme paper \
		--lr 0.2 --transfer \
		--csv $(BUILD)/train-paper.csv --plot $(BUILD)/train-paper.png

train-fashion: $(BUILD)/cim-train
	@tools/data/fetch-fashion-mnist.sh >/dev/null
	$(BUILD)/cim-train --dataset fashion --backend both --lr 0.02 \
		--wmax-scale 3 --transfer \
		--csv $(BUILD)/train-fashion.csv --plot $(BUILD)/train-fashion.png

check-train: $(BUILD)/cim-train
	tools/cim-train/test-idx.sh $(BUILD)/cim-train

check-train-vm:
	tools/cim-train/run-guest.sh

.DEFAULT_GOAL :=
