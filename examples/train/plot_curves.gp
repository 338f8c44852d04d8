# examples/train/plot_curves.gp — validation Recall@20 per epoch, one line per ablation variant
# (mean over seeds), drawn by brmrs_train. Variables (gnuplot -e): datafile (blocks separated by
# two blank lines, one per variant: epoch, mean Recall@20, std Recall@20, mean NDCG@20), outfile,
# titles (space-separated variant names in block order), label (the data set's name).
set terminal pngcairo size 900,560 noenhanced font ",11"
set output outfile
set title sprintf("brmrs ablation on %s: validation Recall@20 (mean over seeds)", label)
set xlabel "epoch"
set ylabel "Recall@20 (validation)"
set key bottom right
set grid
n = words(titles)
plot for [i=0:n-1] datafile index i using 1:2:3 with yerrorlines lw 2 title word(titles, i+1)
